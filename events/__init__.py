"""The event engine (事件引擎): citizen reports triaged, indicator and video warnings dispatched, the event state
the gateway's replicas share. It joins the libraries below it (models, rules, knowledge) and knows no transport:
``serving`` calls it."""
