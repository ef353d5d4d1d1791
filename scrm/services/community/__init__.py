"""Community operations on customer groups (社群运营): group welcome templates (welcome.py),
group codes with their attribution and auto-created rooms (codes.py, code_rooms.py,
code_stats.py) and our own group labels (labels.py). WeCom facts: docs/wecom/api.md#group-welcome-templates,
docs/wecom/api.md#group-codes."""
