-- One database per service, as in production: each service owns its schema and migrations.
CREATE DATABASE credit;
CREATE DATABASE matching;
CREATE DATABASE gateway;
