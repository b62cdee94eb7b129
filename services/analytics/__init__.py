"""The analytics product: answers for the API computed by the agents' queries, cached per
organization; competitors tracked through the networks' providers; reports and exports."""
