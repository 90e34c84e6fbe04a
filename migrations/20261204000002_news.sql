-- « Actualités » (issue 18, part 4): short news items of a region (or of every region, written by
-- a national administrator), shown on the sign-in page and the dashboards of the region's
-- professionals between two dates, and in an Atom feed per region. An item is a draft (previewed
-- in the console) until it is published.
CREATE TABLE news (
    id            uuid PRIMARY KEY,
    -- NULL: a national item, shown in every region.
    region_code   text REFERENCES regions(code),
    title         text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 120),
    -- The text as typed, in the small Markdown subset the portal renders (and sanitises) itself.
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    important     boolean NOT NULL DEFAULT false,
    -- Shown from the first day to the last (inclusive, days in Paris); no last day: until removed.
    starts_on     date NOT NULL,
    ends_on       date CHECK (ends_on IS NULL OR ends_on >= starts_on),
    published_at  timestamptz,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    author_label  text NOT NULL,
    version       integer NOT NULL DEFAULT 1
);
-- What the sign-in page and the feeds read: the published items of a region, newest first.
CREATE INDEX news_shown_idx ON news (region_code, starts_on DESC) WHERE published_at IS NOT NULL;

COMMENT ON TABLE news IS 'Regional and national news items (drafts until published), shown between two dates.';
