#!/usr/bin/env python3
"""`make demo`: print an extraction_result row (as JSON) the way a person reads it.

Usage: show-result.py RESULT_ROW.json FRIENDS.json TRACE_ID
FRIENDS.json maps friend ids to their Riot IDs, so matches show names rather than UUIDs.
"""
import json
import sys

row = json.load(open(sys.argv[1]))
friends = json.load(open(sys.argv[2])) or {}
trace_id = sys.argv[3] if len(sys.argv) > 3 else ""

print(f"  status {row['status']} after {row['attempts']} attempt(s), {row['seconds']:.2f} s in the worker")
if row["status"] != "DONE":
    print(f"  error: {row['error']}")
    sys.exit(1)
result = row["result"]
confidence = result["confidence"]
print(f"  model: {row['model']}")
print(f"  winner: {result['winnerSide']} (confidence {confidence['winner']:.2f})")
print(f"  team A sat on: {result['teamASide']} (confidence {confidence['teamASide']:.2f})")
for match in result["matching"]:
    friend = friends.get(match["friendId"], "unmatched") if match["friendId"] else "unmatched"
    method = match.get("method") or ""
    print(f"    {match['side']:>4} row {match['row']}: {match['raw']!r:<22} -> {friend:<24} {match['score']:5.1f} {method}")
for conflict in result.get("rosterConflicts", []):
    friend = friends.get(conflict["friendId"], conflict["friendId"])
    print(
        f"  conflict: {friend} (team {conflict['recordedTeam']}) was read at the {conflict['seenSide']} table,"
        f" row {conflict['row']} ({conflict['score']:.1f})"
    )
for warning in result.get("warnings", []):
    print(f"  warning {warning['code']}: {warning['message']}")
order = ["download", "decode", "layout", "title", "names", "matching", "total"]
steps = sorted(result["timings"].items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order))
timings = ", ".join(f"{step} {ms:.0f} ms" for step, ms in steps)
print(f"  timings: {timings}")
print(f"  trace id: {trace_id}")
