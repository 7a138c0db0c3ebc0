#!/usr/bin/env bash
# Install the unpacked ClinLens folder for this user: a menu entry and its icon.
# Run from the unpacked tarball: ./install.sh   (uninstall: ./install.sh --remove)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/clinlens.desktop" "$icons/clinlens.png"
    echo "ClinLens menu entry removed (the folder $here is left as it is)"
    exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/clinlens.png" "$icons/clinlens.png"
sed -e "s|@EXEC@|\"$here/ClinLens\"|" -e "s|@ICON@|clinlens|" "$here/clinlens.desktop" > "$apps/clinlens.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$apps" || true
echo "ClinLens installed in the menu; check it with: \"$here/ClinLens\" self-test"
