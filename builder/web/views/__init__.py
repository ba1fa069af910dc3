"""The builder's views, one blueprint per area (templates in builder/web/templates/builder/<area>/)."""
