"""The built-in command handlers, one module per family; ``core.commands`` lists them."""
