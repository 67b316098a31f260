// Entry point: parse the command line and hand over to a tier. Nothing else lives here.
Switchyard.main()
