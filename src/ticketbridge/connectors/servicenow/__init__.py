"""The ServiceNow connector: Table API and Batch API over the vendor seam
(``connectors/protocols.py``); registered through ``vendor.py``."""
