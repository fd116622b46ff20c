import jinja2

print("jinja2", jinja2.__version__, "imported")
