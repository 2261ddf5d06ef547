"""Component ids shared by the shell and the pages (never repeat these strings)."""

# shell (app.layout): present on every page
URL = "url"
REFRESH = "refresh"  # dcc.Interval; assets/visibility.js disables it while the tab is hidden
NAVBAR = "navbar"
NAV_LINK = "nav-link"  # pattern-matching type, index = page path
NOTICES = "admin-notices"  # the alerts helper's admin notices go here
DISABLED_BANNER = "disabled-banner"

# controls bar (in each page's layout)
TIMEFRAME = "timeframe"  # dcc.Store holding the page's timeframe (from ?tf=)
TIMEFRAME_LINKS = "timeframe-links"
REFRESH_BUTTON = "refresh-button"
LAST_UPDATED = "last-updated"
REFRESH_STATE = "refresh-state"  # "live" / "paused" mirror of the Interval's disabled prop

# overview
OVERVIEW_CARDS = "overview-cards"
OVERVIEW_ACTIVITY = "overview-activity"

# performance
PERF_CARDS = "perf-cards"
PERF_RESPONSE = "perf-response"
PERF_MEMORY = "perf-memory"
PERF_AJAX = "perf-ajax"
PERF_COMPONENTS = "perf-components"
PERF_ENDPOINTS = "perf-endpoints"
PERF_SLOW_QUERIES = "perf-slow-queries"

# errors
ERR_CARDS = "err-cards"
ERR_TRENDS = "err-trends"
ERR_TRENDS_BY = "err-trends-by"
ERR_GROUPS = "err-groups"
ERR_RECENT = "err-recent"
ERR_FILTER_LEVEL = "err-filter-level"
ERR_FILTER_TYPE = "err-filter-type"
ERR_FILTER_COMPONENT = "err-filter-component"
ERR_FILTER_RESOLVED = "err-filter-resolved"
ERR_DETAIL = "err-detail"
ERR_DETAIL_BODY = "err-detail-body"
ERR_DETAIL_BUTTON = "err-detail-button"  # pattern-matching type, index = event_id
ERR_RESOLVE_BUTTON = "err-resolve-button"  # pattern-matching type, index = fingerprint
ERR_RESOLVE_RESULT = "err-resolve-result"

# journey
JRN_CARDS = "jrn-cards"
JRN_FUNNEL_NAME = "jrn-funnel-name"
JRN_FUNNEL = "jrn-funnel"
JRN_RATES = "jrn-rates"
JRN_DROP_OFF = "jrn-drop-off"
JRN_DURATIONS = "jrn-durations"
JRN_STAGES = "jrn-stages"

# health
HLT_STATUS = "hlt-status"
HLT_LATEST = "hlt-latest"
HLT_SERIES = "hlt-series"
HLT_RUN = "hlt-run"
HLT_RUN_RESULT = "hlt-run-result"

# activity
ACT_KIND = "act-kind"
ACT_LEVEL = "act-level"
ACT_COMPONENT = "act-component"
ACT_PAUSE = "act-pause"
ACT_PAUSED = "act-paused"
ACT_LOG = "act-log"
ACT_SCROLL_STATE = "act-scroll-state"
ACT_DOWNLOAD_CSV = "act-download-csv"
ACT_DOWNLOAD_JSON = "act-download-json"
ACT_DOWNLOAD = "act-download"

# settings
SET_FIELD = "set-field"  # pattern-matching type, index = setting name
SET_SAVE = "set-save"
SET_RESULT = "set-result"
