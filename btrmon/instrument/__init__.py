"""Automatic instrumentation: WSGI middleware, DB-API and SQLAlchemy slow queries, logging.

``wsgi.BtrmonMiddleware`` / ``wsgi.instrument_flask``, ``dbapi.connect``,
``sqlalchemy.instrument_engine`` (only when SQLAlchemy is installed) and
``logs.install_logging`` / ``logs.install_excepthooks``. Each takes the monitor as an
argument, defaulting to ``Monitor.get_instance()``.

How the seed's (PHP) error types map to Python:

==============  =====================================================================
error_type      recorded for
==============  =====================================================================
php_error       runtime problems *reported*, not raised: log records WARNING and above
                without exception info (``logs.BtrmonHandler``; ``warnings`` too when
                ``logging.captureWarnings(True)``), level = the record's level
exception       exceptions: unhandled in a request (middleware, level critical), log
                records with ``exc_info`` (``logger.exception``), uncaught in a thread
                (``threading.excepthook``, critical), ``monitor.capture_exception``
wp_die          fatal ends of the program: an exception reaching ``sys.excepthook``
                (the interpreter exits), level critical
ajax_error      an unhandled exception in an AJAX request (middleware)
alert           btrmon's own alert engine
==============  =====================================================================
"""
