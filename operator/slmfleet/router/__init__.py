"""The data-plane router: an OpenAI-compatible proxy in front of the fleet's vLLM backends.

Pure decisions live in routing.py (route, backend, endpoint, attempt order), escalation.py and
budget.py (cascades); config.py holds the RouterConfig the operator renders; server.py is the
aiohttp application (`build_app`) and `python -m slmfleet.router` runs it.
"""
