import sqlalchemy.orm
