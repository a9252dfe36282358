"""The component library (组件库), in one home: the contract (``base.Component``), pipelines of components and a
model (``pipeline``), the shelf a gateway replica serves them from (``shelf``), and the installed components:
``text.normalize``, ``privacy.mask``, ``image.decode``, ``series.resample``, ``geo.resolve_area``.

Each is found by name through the ``citymind.components`` entry points (another package can add its own)."""
