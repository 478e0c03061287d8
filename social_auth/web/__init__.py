"""Flask internals of the extension, by what a person does; views.py and session.py are their front doors."""  # noqa: E501
