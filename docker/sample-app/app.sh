#!/bin/sh
echo "sample app $(cat "$(dirname "$0")/VERSION")"
