-- What ties generations of "the same prompt" together when each model family received its own
-- wording (a suite entry, or one intent built from slots), and the text an image must show.
ALTER TABLE generations ADD COLUMN prompt_key VARCHAR;     -- e.g. suite:quick/shop-sign
ALTER TABLE generations ADD COLUMN expected_text VARCHAR;  -- explicit text expected in the image
