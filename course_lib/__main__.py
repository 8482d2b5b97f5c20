"""``python -m course_lib`` is the same as the ``course`` command."""

from course_lib.cli import main

raise SystemExit(main())
