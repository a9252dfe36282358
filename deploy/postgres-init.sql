-- MLflow's basic-auth app keeps its users and permissions in a database of its own (mlflow_auth.ini database_uri)
CREATE DATABASE mlflow_auth OWNER mlflow;
