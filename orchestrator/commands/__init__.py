"""One module per subcommand: NAME, HELP, DESCRIPTION, EPILOG, add_arguments(), run()."""
