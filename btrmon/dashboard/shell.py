"""Builds the Dash app on the Flask server: login, navbar, refresh interval, banners.

The navbar lists ``dash.page_registry`` (pages registered with ``admin=True`` only
for admins), so pages added by other modules appear by themselves. Each page puts
``components.controls(...)`` at its top and reads the shell's ``ids.REFRESH``
interval (paused by ``assets/visibility.js`` while the tab is hidden).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, dcc, html

from btrmon.dashboard import auth, ids
from btrmon.queries import TIMEFRAMES, is_realtime
from btrmon.server import ROOT, current_monitor
from btrmon.store import utcnow


def create_dash(server, monitor) -> dash.Dash:
    """The Dash app (use_pages) mounted on ``server``, behind the login."""
    auth.install(server, monitor)
    app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"),
        # Bootstrap CSS is served from assets/vendor (no CDN: the dashboard works offline).
        suppress_callback_exceptions=True,
        title="btrmon",
        update_title=None,
    )
    app.layout = shell_layout
    register_callbacks(app)
    return app


def _user() -> dict | None:
    try:
        return auth.current_user()
    except RuntimeError:  # outside a request (layout validation)
        return None


def _visible_pages(user: dict | None) -> list[dict]:
    pages = sorted(dash.page_registry.values(), key=lambda p: (p.get("order") if p.get("order") is not None else 50, p["name"]))
    admin = bool(user and user["role"] == "admin")
    return [p for p in pages if admin or not p.get("admin")]


def navbar(user: dict | None) -> dbc.Navbar:
    """Brand, one link per page, the user and a logout link."""
    links = [dbc.NavItem(dbc.NavLink(p["name"], href=p["relative_path"],
                                     id={"type": ids.NAV_LINK, "index": p["relative_path"]}))
             for p in _visible_pages(user)]
    who = []
    if user:
        who = [html.Span(user["username"], className="text-light me-2", id="nav-user"),
               dbc.Badge(user["role"], color="info", className="me-3", id="nav-role"),
               html.A("Log out", href="/logout", className="btn btn-sm btn-outline-light", id="logout")]
    return dbc.Navbar(dbc.Container([
        dbc.NavbarBrand("btrmon", href="/"),
        dbc.Nav(links, navbar=True, className="me-auto"),
        html.Div(who, className="d-flex align-items-center"),
    ], fluid=True), color="dark", dark=True, className="mb-3", id=ids.NAVBAR)


def disabled_banner():
    """The emergency-disable banner when ``btr_monitor_enabled`` is false (else nothing)."""
    try:
        enabled = current_monitor().enabled
    except RuntimeError:
        return None
    if enabled:
        return None
    return dbc.Alert(
        "Monitoring is disabled (btr_monitor_enabled = false): new events are refused. "
        "Re-enable it in Settings or with `python -m btrmon enable`.",
        color="danger", className="mb-0 rounded-0", id="disabled-alert")


def shell_layout():
    """The layout around every page (evaluated per request: it depends on the user)."""
    user = _user()
    try:
        refresh_s = int(current_monitor().config["btrmon_dashboard_refresh"])
    except RuntimeError:
        refresh_s = 30
    return html.Div([
        dcc.Location(id=ids.URL),
        dcc.Interval(id=ids.REFRESH, interval=refresh_s * 1000, n_intervals=0),
        navbar(user),
        html.Div(disabled_banner(), id=ids.DISABLED_BANNER),
        # Admin notices of the alert engine (btrmon.alerts) render into this Div.
        html.Div(id=ids.NOTICES),
        dbc.Container(dash.page_container, fluid=True, className="pb-4"),
    ])


def register_callbacks(app: dash.Dash) -> None:
    """The shell's callbacks, on ``app`` itself (module-level ``dash.callback`` would only
    reach the first app built in a process, and tests build several)."""

    @app.callback(
        Output(ids.LAST_UPDATED, "children"),
        Input(ids.REFRESH, "n_intervals"),
        Input(ids.REFRESH_BUTTON, "n_clicks"),
        Input(ids.TIMEFRAME, "data"),
    )
    def stamp_last_update(_n, _clicks, tf):
        """'updated HH:MM:SS UTC' whenever the page's panels refresh (and how stale 24h/7d may be)."""
        text = f"updated {utcnow():%H:%M:%S} UTC"
        ttl = int(current_monitor().config["btr_monitor_cache_ttl"])
        if tf in TIMEFRAMES and not is_realtime((tf,)) and ttl:
            text += f" (figures of {tf} are cached up to {ttl} s)"
        return text

    @app.callback(Output(ids.DISABLED_BANNER, "children"), Input(ids.REFRESH, "n_intervals"),
                  prevent_initial_call=True)
    def refresh_banner(_n):
        """Show or hide the emergency-disable banner on each refresh."""
        return disabled_banner()

    # Keep the timeframe (?tf=) when moving between pages.
    app.clientside_callback(
        """function(search, pathname, link_ids) {
            const tf = new URLSearchParams(search || "").get("tf");
            return [link_ids.map(id => tf ? id.index + "?tf=" + encodeURIComponent(tf) : id.index),
                    link_ids.map(id => id.index === pathname)];
        }""",
        Output({"type": ids.NAV_LINK, "index": ALL}, "href"),
        Output({"type": ids.NAV_LINK, "index": ALL}, "active"),
        Input(ids.URL, "search"),
        Input(ids.URL, "pathname"),
        State({"type": ids.NAV_LINK, "index": ALL}, "id"),
    )

    app.clientside_callback(
        """function(disabled, interval) {
            return disabled ? "auto refresh: paused (tab hidden)"
                            : "auto refresh: every " + Math.round(interval / 1000) + " s";
        }""",
        Output(ids.REFRESH_STATE, "children"),
        Input(ids.REFRESH, "disabled"),
        Input(ids.REFRESH, "interval"),
    )
