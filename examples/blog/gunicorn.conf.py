"""gunicorn settings of ``make serve-prod``: the one home of the shipped access-log format.

``%(U)s`` is the path without its query. A mailed link carries its token in the query
(``/auth/email/verify?token=…``) and the confirming POST in its body, so no line of this log
holds one; never switch to ``%(r)s`` (the whole request line) or add ``%(q)s`` or ``%(f)s``
(the Referer, which on a page reached from a link may be that link).
"""

bind = "127.0.0.1:8000"
workers = 4
timeout = 30
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
