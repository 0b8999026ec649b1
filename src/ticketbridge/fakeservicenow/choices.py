"""The default choice lists (``sys_choice`` rows) of a fresh instance.

Values and labels are ServiceNow's out-of-the-box ones for the fields the mapping uses;
task-level choices (``impact``, ``urgency``, ``priority``) are listed per table as well, since
the emulator looks labels up by (table, element) only.
"""

from __future__ import annotations

IMPACT = [("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low")]
PRIORITY = [
    ("1", "1 - Critical"),
    ("2", "2 - High"),
    ("3", "3 - Moderate"),
    ("4", "4 - Low"),
    ("5", "5 - Planning"),
]
CONTACT_TYPE = [
    ("email", "Email"),
    ("phone", "Phone"),
    ("self-service", "Self-service"),
    ("walk-in", "Walk-in"),
    ("virtual_agent", "Virtual Agent"),
]

INCIDENT_STATE = [
    ("1", "New"),
    ("2", "In Progress"),
    ("3", "On Hold"),
    ("6", "Resolved"),
    ("7", "Closed"),
    ("8", "Canceled"),
]
INCIDENT_CATEGORY = [
    ("inquiry", "Inquiry / Help"),
    ("software", "Software"),
    ("hardware", "Hardware"),
    ("network", "Network"),
    ("database", "Database"),
]
INCIDENT_CLOSE_CODE = [
    ("Duplicate", "Duplicate"),
    ("Known error", "Known error"),
    ("No resolution provided", "No resolution provided"),
    ("Resolved by caller", "Resolved by caller"),
    ("Resolved by change", "Resolved by change"),
    ("Resolved by problem", "Resolved by problem"),
    ("Resolved by request", "Resolved by request"),
    ("Solution provided", "Solution provided"),
    ("Workaround provided", "Workaround provided"),
    ("User error", "User error"),
]
SEVERITY = [("1", "1 - High"), ("2", "2 - Medium"), ("3", "3 - Low")]

PROBLEM_STATE = [
    ("101", "New"),
    ("102", "Assess"),
    ("103", "Root Cause Analysis"),
    ("104", "Fix in Progress"),
    ("106", "Resolved"),
    ("107", "Closed"),
]
PROBLEM_CATEGORY = INCIDENT_CATEGORY
CHANGE_STATE = [
    ("-5", "New"),
    ("-4", "Assess"),
    ("-3", "Authorize"),
    ("-2", "Scheduled"),
    ("-1", "Implement"),
    ("0", "Review"),
    ("3", "Closed"),
    ("4", "Canceled"),
]
CHANGE_TYPE = [("standard", "Standard"), ("normal", "Normal"), ("emergency", "Emergency")]
CHANGE_CATEGORY = [
    ("Hardware", "Hardware"),
    ("Software", "Software"),
    ("Network", "Network"),
    ("Other", "Other"),
]
RITM_STATE = [
    ("-5", "Pending"),
    ("1", "Open"),
    ("2", "Work in Progress"),
    ("3", "Closed Complete"),
    ("4", "Closed Incomplete"),
    ("7", "Closed Skipped"),
]

SUBCATEGORIES = {
    "software": [("email", "Email"), ("os", "Operating System")],
    "hardware": [("cpu", "CPU"), ("disk", "Disk"), ("memory", "Memory")],
    "network": [("dns", "DNS"), ("vpn", "VPN"), ("wireless", "Wireless")],
    "database": [("db2", "DB2"), ("oracle", "Oracle"), ("sql server", "MS SQL Server")],
    "inquiry": [
        ("antivirus", "Antivirus"),
        ("email", "Email"),
        ("internal application", "Internal Application"),
    ],
}

_COMMON = {"impact": IMPACT, "urgency": IMPACT, "priority": PRIORITY, "contact_type": CONTACT_TYPE}

DEFAULT_CHOICES: dict[str, dict[str, list[tuple[str, str]]]] = {
    "incident": {
        **_COMMON,
        "state": INCIDENT_STATE,
        "incident_state": INCIDENT_STATE,
        "category": INCIDENT_CATEGORY,
        "close_code": INCIDENT_CLOSE_CODE,
        "severity": SEVERITY,
    },
    "problem": {**_COMMON, "state": PROBLEM_STATE, "category": PROBLEM_CATEGORY},
    "change_request": {
        **_COMMON,
        "state": CHANGE_STATE,
        "type": CHANGE_TYPE,
        "category": CHANGE_CATEGORY,
        "risk": [("2", "High"), ("3", "Moderate"), ("4", "Low")],
    },
    "sc_req_item": {**_COMMON, "state": RITM_STATE},
}


def default_rows() -> list[dict[str, str]]:
    """``sys_choice`` rows: ``name`` (table), ``element``, ``value``, ``label``, ``sequence``."""
    rows: list[dict[str, str]] = []
    for table, elements in DEFAULT_CHOICES.items():
        for element, choices in elements.items():
            for sequence, (value, label) in enumerate(choices):
                rows.append(
                    {
                        "name": table,
                        "element": element,
                        "value": value,
                        "label": label,
                        "sequence": str(sequence),
                    }
                )
    for category, subs in SUBCATEGORIES.items():
        for sequence, (value, label) in enumerate(subs):
            rows.append(
                {
                    "name": "incident",
                    "element": "subcategory",
                    "value": value,
                    "label": label,
                    "sequence": str(sequence),
                    "dependent_value": category,
                }
            )
    return rows
