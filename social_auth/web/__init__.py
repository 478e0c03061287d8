"""The Flask internals, split by what a person does (sign in, manage their account, confirm an
email, the dev provider's pages) and the pages they share; ``social_auth.views`` mounts them."""
