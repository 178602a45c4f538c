#!/usr/bin/env bash
# Builds the APK fixtures in test/fixtures/apk/ from the sources in test/fixtures/apk/src/<name>/
# (AndroidManifest.xml, plus res/ when the app has resources) with Debian's aapt:
#   apt-get install -y aapt android-framework-res
# The APKs are unsigned: the sim driver does not verify signatures, and unsigned files stay a few KB.
# The built files are committed, so tests need neither aapt nor this script; rerun it after editing a source.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fixtures="$root/test/fixtures/apk"
framework=/usr/share/android-framework-res/framework-res.apk

command -v aapt >/dev/null || { echo "aapt not found: apt-get install -y aapt android-framework-res" >&2; exit 1; }
[[ -f "$framework" ]] || { echo "$framework not found: apt-get install -y android-framework-res" >&2; exit 1; }

for src in "$fixtures"/src/*/; do
  name="$(basename "$src")"
  args=(package -f -M "$src/AndroidManifest.xml" -I "$framework" -F "$fixtures/$name.apk")
  [[ -d "$src/res" ]] && args+=(-S "$src/res")
  aapt "${args[@]}"
  echo "built $name.apk"
done

# A file with the right extension that is not a zip at all.
echo "This is a text file, not an APK." > "$fixtures/not-an-apk.apk"
echo "built not-an-apk.apk"
