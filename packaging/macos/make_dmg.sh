#!/usr/bin/env bash
# macOS: sign, package and notarize dist/ClinLens.app (built by `python packaging/build.py`,
# whose spec makes the .app bundle on darwin). Written here, run on a Mac with Xcode tools.
#
#   SIGN_ID="Developer ID Application: Example Clinic Software (TEAMID)" \
#   NOTARY_PROFILE=clinlens-notary  packaging/macos/make_dmg.sh
#
# NOTARY_PROFILE is a keychain profile made once with:
#   xcrun notarytool store-credentials clinlens-notary --apple-id ... --team-id ... --password ...
# Without SIGN_ID the .dmg is made unsigned (for a local test only; Gatekeeper refuses it).
set -euo pipefail
cd "$(dirname "$0")/../.."
APP=dist/ClinLens.app
VERSION=$(python3 -c "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
DMG="dist/ClinLens-$VERSION-macos.dmg"
[ -d "$APP" ] || { echo "dmg: $APP is missing: run python packaging/build.py first"; exit 2; }

if [ -n "${SIGN_ID:-}" ]; then
    echo "dmg: signing every library, then the app (hardened runtime)"
    find "$APP/Contents" -type f \( -name "*.dylib" -o -name "*.so" \) -print0 |
        xargs -0 codesign --force --timestamp --options runtime \
            --entitlements packaging/macos/entitlements.plist --sign "$SIGN_ID"
    codesign --force --timestamp --options runtime \
        --entitlements packaging/macos/entitlements.plist --sign "$SIGN_ID" "$APP"
    codesign --verify --deep --strict --verbose=2 "$APP"
fi

echo "dmg: building $DMG"
rm -f "$DMG"
staging=$(mktemp -d)
cp -R "$APP" "$staging/"
ln -s /Applications "$staging/Applications"
hdiutil create -volname "ClinLens $VERSION" -srcfolder "$staging" -ov -format UDZO "$DMG"
rm -rf "$staging"

if [ -n "${SIGN_ID:-}" ]; then
    codesign --force --timestamp --sign "$SIGN_ID" "$DMG"
    if [ -n "${NOTARY_PROFILE:-}" ]; then
        echo "dmg: notarizing (waits for Apple's answer)"
        xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
        xcrun stapler staple "$DMG"
        spctl --assess --type open --context context:primary-signature -v "$DMG"
    fi
fi
echo "dmg: done: $DMG"
