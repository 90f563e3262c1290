#!/bin/sh
# The engine reaches its host only through core/port.h: no .c file in core/
# may include a system header.
bad=$(grep -Hn '#include <' core/*.c)
if [ -n "$bad" ]; then
	echo "core includes system headers directly:"
	echo "$bad"
	echo "core-includes: 0 passed, 1 failed"
	exit 1
fi
echo "core-includes: 1 passed, 0 failed"
