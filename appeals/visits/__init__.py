"""入户走访 (home visits, issue 22): visit plans per care tag, the grid worker's 走访 list,
recording a visit, raising an appeal from it, reminders and figures.

Modules: ``models`` (the rules and the visits; imported by appeals.models), ``plans`` (the
natural periods and which household is due), ``services`` (recording, raising an appeal,
the not-found flag, reminders), ``selectors`` (who sees what; the list; the month's
figures), ``views`` and ``urls`` (the pages, at /visits/)."""
