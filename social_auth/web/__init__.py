"""The Flask internals, split by what a person does (sign in, manage their account, confirm an
email, the dev provider's pages), the pages they share, and the session's parts (cookies,
signing, CSRF, drafts, the current commenter); ``views`` and ``session`` are their front doors."""
