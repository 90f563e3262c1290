#!/bin/bash
# tests/install/complete.sh - what bash completion offers for a command
# line, as bash would ask it of the completion file for tdbcli.
#
# Usage: complete.sh COMPLETION_FILE WORD...   The words are the line's,
# the last one being the word under the cursor (give '' for a new word);
# the first is the tdbcli to run for table names (a path).  Prints the
# candidates, one a line, sorted.
set -u
file=$1
shift
# shellcheck source=/dev/null
. /usr/share/bash-completion/bash_completion || exit 2
# shellcheck source=/dev/null
. "$file" || exit 2
# compopt works only while bash runs a completion function for real.
compopt() { :; }

# Bash splits the line at the characters of COMP_WORDBREAKS as well as at
# blanks: --format=csv is three words, "--format", "=" and "csv", which
# _init_completion joins again.  Only '=' and ':' occur in these lines.
COMP_WORDS=()
for w in "$@"; do
	[ -z "$w" ] && COMP_WORDS+=("")
	while [ -n "$w" ]; do
		case $w in
		[=:]*)
			sep=${w%%[!=:]*}
			COMP_WORDS+=("$sep")
			w=${w#"$sep"}
			;;
		*)
			part=${w%%[=:]*}
			COMP_WORDS+=("$part")
			w=${w#"$part"}
			;;
		esac
	done
done
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
COMPREPLY=()
_tdbcli "tdbcli" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
[ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort
