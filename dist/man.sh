#!/usr/bin/env bash
# The man page zonetrace(1), made from the CLI's own help texts so that the
# two cannot disagree: `man.sh path/to/zonetrace VERSION > zonetrace.1`.
set -euo pipefail
zt=$1 version=$2
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\&'/"; }
cat <<HEAD
.TH ZONETRACE 1 "" "zonetrace $version" "User Commands"
.SH NAME
zonetrace \- find out why malloc failed or a process was killed for memory, and who filled the heap
.SH SYNOPSIS
.nf
HEAD
"$zt" --help | esc
echo ".fi"
echo ".SH COMMANDS"
for cmd in run report diff jetsam profiles options demo; do
    echo ".SS $cmd"
    echo ".nf"
    "$zt" "$cmd" --help | esc
    echo ".fi"
done
echo ".SH ENVIRONMENT"
echo "Every option is an environment variable and a \\fBzonetrace run\\fR flag:"
echo ".nf"
"$zt" options | esc
echo ".fi"
cat <<'TAIL'
.SH FILES
.TP
.I zonetrace-<pid>.zt
the record file of a run: crash-safe, read by \fBzonetrace report\fR and \fBzonetrace diff\fR
.SH SEE ALSO
.BR heaptrack (1),
.BR malloc_history (1)
TAIL
