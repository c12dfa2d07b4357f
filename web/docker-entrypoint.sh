#!/bin/sh
# Writes the page's runtime settings, so one image serves any set of gateways.
set -eu

: "${GATEWAY_URLS:?GATEWAY_URLS must list the gateway WebSocket URLs, comma-separated}"
TOKEN_URL="${TOKEN_URL:-}"
# Overridable so the script can be exercised outside the image.
HTML_ROOT="${HTML_ROOT:-/usr/share/nginx/html}"

# JSON-escape backslashes and quotes; URLs have no other characters that need it.
escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

cat > "$HTML_ROOT/config.js" <<JS
window.__ORDERS_CONFIG__ = { gatewayUrls: "$(escape "$GATEWAY_URLS")", tokenUrl: "$(escape "$TOKEN_URL")" };
JS

exec nginx -g 'daemon off;'
