"""One screen per step of the journey: corpus, model, training dashboard, playground, runs."""
