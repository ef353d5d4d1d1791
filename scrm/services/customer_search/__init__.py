"""The console's customer list and saved segments (issue #14, part 4).

  filters.py   the one place a filter (CustomerFilterSchema's dict) becomes SQL conditions on
               follow_relation; bulk actions and mass messaging select their relations through it
  listing.py   a page of matching relations and the capped count
  segments.py  saved segments (分群): CRUD and the live count
  options.py   what the filter controls offer (tags, stages, channels, staff, departments, …)
  profile.py   the customer page: profile and timeline as the sidebar builds them, for a reader
               who is not one of the customer's staff
"""
from scrm.services.customer_search.filters import matching_relations, relation_conditions
from scrm.services.customer_search.listing import COUNT_CAP, TooDeep, count, page

__all__ = ["COUNT_CAP", "TooDeep", "count", "matching_relations", "page", "relation_conditions"]
