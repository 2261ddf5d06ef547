"""User journey: conversion funnel per funnel with step rates, sessions, conversion per
funnel, drop-off points, session duration distribution and time per stage."""

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, dcc, html

from btrmon import queries as Q
from btrmon.dashboard.export_button import export_button, register_panel_export
from btrmon.dashboard import figures, ids
from btrmon.dashboard.components import (
    controls, empty, fmt, graph, guarded, monitor, panel, stat_card, table, timeframe_of,
)
from btrmon.models import FUNNELS

dash.register_page(__name__, path="/journey", name="User journey", order=30)

_TRIGGERS = [Input(ids.REFRESH, "n_intervals"), Input(ids.REFRESH_BUTTON, "n_clicks"), Input(ids.TIMEFRAME, "data")]
_JOURNEY_HINT = ("Send kind 'journey' events with session_id, journey_stage (e.g. initialization ... conversion) "
                 "and conversion_funnel (booking, quote_to_order, payment_completion).")

register_panel_export("jrn-funnel", lambda m, tf: pd.concat([Q.funnel(m, tf, f).assign(funnel=f) for f in FUNNELS]),
                      "funnels")
register_panel_export("jrn-rates", lambda m, tf: Q.conversion_rates(m, tf), "conversion-rates")
register_panel_export("jrn-drop-off", lambda m, tf: Q.drop_off_points(m, tf, 1000), "drop-off-points")
register_panel_export("jrn-durations", lambda m, tf: Q.journey_durations(m, tf), "session-durations")
register_panel_export("jrn-stages", lambda m, tf: Q.stage_times(m, tf), "stage-times")


def _funnel_names(tf: str) -> list[str]:
    """The seed's funnels, then any other funnel seen in the timeframe."""
    try:
        return list(Q.cached(monitor(), Q.conversion_rates, tf)["funnel"])
    except Exception:  # noqa: BLE001 - the panels show the error; the picker still works
        return list(FUNNELS)


def layout(**query):
    """The user journey page."""
    tf = timeframe_of(query)
    names = _funnel_names(tf)
    funnel = query.get("funnel") if query.get("funnel") in names else names[0]
    picker = html.Div([dcc.Dropdown(names, value=funnel, clearable=False, id=ids.JRN_FUNNEL_NAME,
                                    style={"minWidth": "14rem"}, className="d-inline-block me-2 align-middle"),
                       export_button("jrn-funnel")], className="d-flex align-items-center")
    return html.Div([
        html.H2("User journey", className="h4"),
        controls("/journey", tf),
        html.Div(id=ids.JRN_CARDS, className="mb-2"),
        dbc.Row([
            dbc.Col(panel("Conversion funnel", ids.JRN_FUNNEL, picker), lg=7),
            dbc.Col(panel("Conversion per funnel", ids.JRN_RATES, export_button("jrn-rates")), lg=5),
        ]),
        dbc.Row([
            dbc.Col(panel("Drop-off points", ids.JRN_DROP_OFF, export_button("jrn-drop-off")), lg=6),
            dbc.Col(panel("Session duration", ids.JRN_DURATIONS, export_button("jrn-durations")), lg=6),
        ]),
        panel("Time per stage", ids.JRN_STAGES, export_button("jrn-stages")),
    ])


@dash.callback(Output(ids.JRN_CARDS, "children"), *_TRIGGERS)
@guarded()
def render_cards(_n, _clicks, tf):
    """Sessions, conversion, durations."""
    s = Q.cached(monitor(), Q.journey_summary, tf)
    cards = [
        stat_card("Sessions", fmt(s["sessions"]), f"{fmt(s['steps'])} steps", card_id="jrn-sessions"),
        stat_card("Converted", fmt(s["converted"]), "reached stage conversion"),
        stat_card("Conversion rate", fmt(s["conversion_rate_pct"], "%"), card_id="jrn-conversion"),
        stat_card("Avg session", fmt(s["avg_duration_s"], "s"), f"median {fmt(s['median_duration_s'], 's')}"),
    ]
    return dbc.Row([dbc.Col(c, xs=6, md=3, className="mb-2") for c in cards])


@dash.callback(Output(ids.JRN_FUNNEL, "children"), *_TRIGGERS, Input(ids.JRN_FUNNEL_NAME, "value"))
@guarded()
def render_funnel(_n, _clicks, tf, name):
    """The chosen funnel: chart and step rates."""
    df = Q.cached(monitor(), Q.funnel, tf, name or FUNNELS[0])
    if not df["sessions"].any():
        return empty(f"No sessions in funnel {name} in this timeframe.", _JOURNEY_HINT)
    return html.Div([
        graph(figures.figure_funnel(df, name)),
        table(df, [("step", "#"), ("stage", "Stage"), ("sessions", "Sessions"),
                   ("rate_pct", "Of first step"), ("step_rate_pct", "From previous step")],
              units={"rate_pct": "%", "step_rate_pct": "%"}, table_id="funnel-table"),
    ])


@dash.callback(Output(ids.JRN_RATES, "children"), Output(ids.JRN_DROP_OFF, "children"), *_TRIGGERS)
@guarded(outputs=2)
def render_rates(_n, _clicks, tf):
    """Conversion per funnel and drop-off points."""
    m = monitor()
    rates = Q.cached(m, Q.conversion_rates, tf)
    drops = Q.cached(m, Q.drop_off_points, tf)
    rates_view = table(rates, [("funnel", "Funnel"), ("sessions", "Sessions"), ("converted", "Converted"),
                               ("rate_pct", "Rate")], units={"rate_pct": "%"}) \
        if rates["sessions"].any() else empty("No funnel sessions in this timeframe.", _JOURNEY_HINT)
    drops_view = html.Div([
        graph(figures.figure_drop_off(drops)),
        table(drops, [("stage", "Stage"), ("step", "Last step"), ("sessions", "Sessions"),
                      ("flagged", "Flagged drop_off"), ("pct_of_sessions", "Of all sessions")],
              units={"pct_of_sessions": "%"}),
    ]) if not drops.empty else empty("No drop-offs in this timeframe.", _JOURNEY_HINT)
    return rates_view, drops_view


@dash.callback(Output(ids.JRN_DURATIONS, "children"), Output(ids.JRN_STAGES, "children"), *_TRIGGERS)
@guarded(outputs=2)
def render_durations(_n, _clicks, tf):
    """Session duration distribution and time per stage."""
    m = monitor()
    return (graph(figures.figure_journey_durations(Q.cached(m, Q.journey_durations, tf))),
            graph(figures.figure_stage_times(Q.cached(m, Q.stage_times, tf))))
