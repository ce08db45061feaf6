"""Pages for 邻聚小圆桌, one module per sub-domain: topics (the board, a topic and its step
actions), meetings (the tablet page and its actions, the phone vote page) and templates
(议事规则). Every POST has its own URL and small view, like the API's one endpoint per action,
and calls one service."""
