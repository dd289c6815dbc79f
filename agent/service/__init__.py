"""The service page: a local HTTPS page where installers commission and support staff diagnose.

Status (the same snapshot ``evse-agent status`` prints: agent/app/status_socket.py), the
configuration as a form (checked as check-config checks it, shown as a diff, applied with a
restart; agent/service/config_edit.py), hardware tests with their interlocks (agent/service/
ports.py, implemented in agent/station/service_actions.py), and support (the diagnostics
archive, the last log lines, the connector history). Plain HTML, CSS and JavaScript under
static/, no build step and nothing fetched from elsewhere; text in the station's languages
(static/i18n/<language>.json, English at least).

Why inside the agent process and not a unit of its own: the tests drive hardware the agent
owns (the Modbus bus, the GPIO lines, the card reader): a second process would need a control
channel into the agent that does the same with more to secure. Inside, it costs no new
privilege: the unit already allows AF_INET/AF_INET6 (the backend link), and a port above 1023
needs no capability. It runs on the agent's event loop with short handlers; what is slow
(Argon2, writing the diagnostics archive) runs in a thread; it is off unless configured
(``[service_page] listen``), and a failure to start it is logged, never fatal.

Security: agent/service/auth.py (passwords, sessions, throttling, CSRF) and agent/service/
server.py (what each request must carry, and the security log).
"""
