"""``musicrec history``: what the listening history holds; ``musicrec history import FILE``
brings in a ListenBrainz export or a CSV of listens."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from musicrec_desktop.commands._output import add_json_flag, print_json
from musicrec_desktop.context import AppContext
from musicrec_desktop.history.exports import CSV_NAMES, CSV_PATHS, LISTENBRAINZ

ORDER = 55
UNMATCHED_SHOWN = 20  # in the text output; --json lists them all
FORMS = {LISTENBRAINZ: "ListenBrainz export", CSV_PATHS: "CSV of timestamp,path",
         CSV_NAMES: "CSV of timestamp,artist,title,album"}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "history", help="your listening history: listens, sessions, span; import one you have",
        description="Shows the listening history (plays the companion recorded and listens "
                    "imported). A gap of more than 30 minutes starts a new session.")
    add_json_flag(parser)
    parser.set_defaults(run=run_summary)
    actions = parser.add_subparsers(dest="history_action", metavar="ACTION")
    imp = actions.add_parser(
        "import", help="import a ListenBrainz export or a CSV of listens",
        description="FILE: a ListenBrainz export (JSON array or JSON lines), a CSV of "
                    "timestamp,path (path or file:// URL) or a CSV of timestamp,artist,title,album "
                    "(as Last.fm exports are); timestamps as epoch seconds or ISO 8601 (UTC when "
                    "no zone is given). Listens are matched to your library's songs; importing "
                    "the same file twice adds nothing.")
    imp.add_argument("file", metavar="FILE")
    add_json_flag(imp)
    imp.set_defaults(run=run_import)


def run_summary(ctx: AppContext, args: argparse.Namespace) -> int:
    from musicrec_desktop.history.summary import history_summary
    from musicrec_desktop.library import current_library
    from musicrec_desktop.store.history import HistoryStore

    events = []
    if ctx.dirs.history_db.exists():
        with HistoryStore(ctx.dirs.history_db) as history:
            events = history.events()
    songs = current_library(ctx.settings, ctx.dirs).songs
    summary = history_summary(events, {s.key for s in songs}, {s.url for s in songs})
    if args.json:
        print_json(summary)
        return 0
    print("Listening history")
    print(f"  listens    {summary['listens']} ({summary['imported']} imported, "
          f"{summary['skips']} skipped)")
    print(f"  matched    {summary['matched']} (songs in your library)")
    print(f"  sessions   {summary['sessions']} (a gap over {summary['session_gap_minutes']} "
          "minutes starts a new one)")
    if summary["first"]:
        print(f"  span       {summary['first']} to {summary['last']} "
              f"({summary['span_days']:g} days)")
    else:
        print("  span       none yet (run: musicrec history import FILE, or musicrec companion)")
    return 0


def run_import(ctx: AppContext, args: argparse.Namespace) -> int:
    from pathlib import Path

    from musicrec_desktop.history.importer import import_history
    from musicrec_desktop.library import current_library

    songs = current_library(ctx.settings, ctx.dirs).songs
    report = import_history(Path(args.file).expanduser(), songs, ctx.dirs.history_db)
    if args.json:
        print_json(report.to_dict())
        return 0
    how = ", ".join(f"by {name} {count}" for name, count in report.matched_by.items())
    print(f"Imported {report.file} ({FORMS[report.form]})")
    print(f"  listens       {report.listens}")
    print(f"  matched       {report.matched}" + (f" ({how})" if how else ""))
    print(f"  added         {report.added} ({report.already_there} already in the history)")
    print(f"  not matched   {len(report.unmatched)}")
    if report.unmatched:
        print("Not matched (not in your library):")
        for item in report.unmatched[:UNMATCHED_SHOWN]:
            when = datetime.fromtimestamp(item["at"], UTC).strftime("%Y-%m-%d %H:%M")
            print(f"  {item['where']:<11} {when}  {item['listen']}")
        if len(report.unmatched) > UNMATCHED_SHOWN:
            print(f"  ... {len(report.unmatched) - UNMATCHED_SHOWN} more (--json lists them all)")
    for note in report.notes:
        print(f"Note: {note}")
    return 0
