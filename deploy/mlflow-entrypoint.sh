#!/bin/sh
# The MLflow server image's entrypoint: the Flask secret (CSRF of the basic-auth app) from a secret file, never from
# an argument or the compose file. Then the command as given.
set -eu
if [ -n "${MLFLOW_FLASK_SERVER_SECRET_KEY_FILE:-}" ]; then
  MLFLOW_FLASK_SERVER_SECRET_KEY="$(cat "$MLFLOW_FLASK_SERVER_SECRET_KEY_FILE")"
  export MLFLOW_FLASK_SERVER_SECRET_KEY
fi
exec "$@"
