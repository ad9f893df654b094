"""Front ends: the command line, and what the command line and the web app share."""
