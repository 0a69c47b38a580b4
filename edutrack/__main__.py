from edutrack.cli import main

raise SystemExit(main())
