-- Establishments, users, memberships and administrative roles.

CREATE TABLE establishments (
    id          uuid PRIMARY KEY,
    -- FINESS: 9 characters, department (2 digits, or 2A/2B for Corsica) then digits, the last a
    -- Luhn check digit. The application validates the check digit; the shape is enforced here.
    finess      text NOT NULL UNIQUE CHECK (finess ~ '^(\d{2}|2A|2B)\d{7}$'),
    name        text NOT NULL CHECK (length(btrim(name)) > 0),
    city        text NOT NULL DEFAULT '',
    region_code text NOT NULL REFERENCES regions(code),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL
);
CREATE INDEX establishments_region_idx ON establishments (region_code);

CREATE TYPE user_status AS ENUM ('pending_activation', 'active', 'locked', 'disabled');

CREATE TABLE users (
    id              uuid PRIMARY KEY,
    -- Usernames are compared case-insensitively: stored lowercased by the application.
    username        text NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$'),
    email           text NOT NULL CHECK (position('@' in email) > 1),
    family_name     text NOT NULL CHECK (length(btrim(family_name)) > 0),
    given_name      text NOT NULL CHECK (length(btrim(given_name)) > 0),
    -- RPPS: 11 digits, Luhn check digit last (validated by the application). Not every account has
    -- one (secretaries, support staff).
    rpps            text CHECK (rpps ~ '^\d{11}$'),
    region_code     text NOT NULL REFERENCES regions(code),
    status          user_status NOT NULL DEFAULT 'pending_activation',
    -- PHC string of an Argon2id hash; NULL until the account is activated.
    password_hash   text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- Optimistic concurrency for administrators editing the same account.
    version         integer NOT NULL DEFAULT 1,
    CONSTRAINT users_username_key UNIQUE (username),
    CONSTRAINT users_rpps_key UNIQUE (rpps),
    CONSTRAINT users_active_has_password CHECK (status <> 'active' OR password_hash IS NOT NULL)
);
CREATE INDEX users_region_idx ON users (region_code);
CREATE INDEX users_email_idx ON users (lower(email));

CREATE TABLE memberships (
    user_id          uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    establishment_id uuid NOT NULL REFERENCES establishments(id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (user_id, establishment_id)
);
CREATE INDEX memberships_establishment_idx ON memberships (establishment_id);

CREATE TYPE admin_role AS ENUM ('support', 'regional_admin', 'national_admin');

CREATE TABLE admin_roles (
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        admin_role NOT NULL,
    -- The region a support desk or regional administrator acts on; NULL only for national admins,
    -- who act on every region.
    region_code text REFERENCES regions(code),
    granted_at  timestamptz NOT NULL,
    granted_by  uuid REFERENCES users(id),
    CONSTRAINT admin_roles_scope CHECK ((role = 'national_admin') = (region_code IS NULL))
);
CREATE UNIQUE INDEX admin_roles_unique ON admin_roles (user_id, role, coalesce(region_code, ''));
