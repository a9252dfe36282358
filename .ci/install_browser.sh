#!/usr/bin/env bash
# Put Debian's Chromium (and a CJK font, so the console's Chinese renders in screenshots) in place for the
# console's browser tests (tests/e2e/test_zzy_console.py drive it with Playwright; `playwright install` would
# download a browser, which a city intranet cannot). Exit 0 when /usr/bin/chromium runs, 1 with the reason.
set -euo pipefail
if [ ! -x /usr/bin/chromium ] || ! compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK*" >/dev/null; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "browser: chromium missing and cannot install it here (needs root and apt-get)"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; }; then
    echo "browser: apt-get install chromium fonts-noto-cjk failed (no network to the package mirrors?)"
    exit 1
  fi
fi
echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
