"""Components (组件库) from the models library: text cleaning, privacy masking, image decoding, series resampling.

Each follows :class:`models.components.base.Component` and is found by name through the ``citymind.components``
entry points."""
