"""Planning: the pure core deciding what an event, a due follow-up and a failed send lead to."""
