-- Regions are the tenants of Passerelle: every user and establishment belongs to exactly one.
-- Codes are ISO 3166-2 (FR-xxx for metropolitan regions, FR-GP… for the overseas ones).
CREATE TABLE regions (
    code            text PRIMARY KEY CHECK (code ~ '^FR-[A-Z]{2,3}$'),
    name            text NOT NULL,
    agency_name     text NOT NULL,           -- the regional health agency (ARS)
    agency_url      text NOT NULL CHECK (agency_url ~ '^https://'),
    support_email   text NOT NULL,
    support_phone   text NOT NULL,
    support_hours   text NOT NULL
);

COMMENT ON TABLE regions IS 'French regions (tenants), with the agency users are sent to for an account and the support desk shown to them.';

-- Support contacts are placeholders under the reserved .example domain: each deployment sets its
-- own desk (README, "Régions"). Agency names and sites are the real ones.
INSERT INTO regions (code, name, agency_name, agency_url, support_email, support_phone, support_hours) VALUES
('FR-ARA', 'Auvergne-Rhône-Alpes', 'ARS Auvergne-Rhône-Alpes', 'https://www.auvergne-rhone-alpes.ars.sante.fr', 'support-ara@passerelle.example', '04 00 00 00 01', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-BFC', 'Bourgogne-Franche-Comté', 'ARS Bourgogne-Franche-Comté', 'https://www.bourgogne-franche-comte.ars.sante.fr', 'support-bfc@passerelle.example', '03 00 00 00 02', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-BRE', 'Bretagne', 'ARS Bretagne', 'https://www.bretagne.ars.sante.fr', 'support-bre@passerelle.example', '02 00 00 00 03', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-CVL', 'Centre-Val de Loire', 'ARS Centre-Val de Loire', 'https://www.centre-val-de-loire.ars.sante.fr', 'support-cvl@passerelle.example', '02 00 00 00 04', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-COR', 'Corse', 'ARS de Corse', 'https://www.corse.ars.sante.fr', 'support-cor@passerelle.example', '04 00 00 00 05', 'du lundi au vendredi, 8 h 30 – 17 h'),
('FR-GES', 'Grand Est', 'ARS Grand Est', 'https://www.grand-est.ars.sante.fr', 'support-ges@passerelle.example', '03 00 00 00 06', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-HDF', 'Hauts-de-France', 'ARS Hauts-de-France', 'https://www.hauts-de-france.ars.sante.fr', 'support-hdf@passerelle.example', '03 00 00 00 07', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-IDF', 'Île-de-France', 'ARS Île-de-France', 'https://www.iledefrance.ars.sante.fr', 'support-idf@passerelle.example', '01 00 00 00 08', 'du lundi au vendredi, 8 h – 19 h'),
('FR-NOR', 'Normandie', 'ARS Normandie', 'https://www.normandie.ars.sante.fr', 'support-nor@passerelle.example', '02 00 00 00 09', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-NAQ', 'Nouvelle-Aquitaine', 'ARS Nouvelle-Aquitaine', 'https://www.nouvelle-aquitaine.ars.sante.fr', 'support-naq@passerelle.example', '05 00 00 00 10', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-OCC', 'Occitanie', 'ARS Occitanie', 'https://www.occitanie.ars.sante.fr', 'support-occ@passerelle.example', '05 00 00 00 11', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-PDL', 'Pays de la Loire', 'ARS Pays de la Loire', 'https://www.pays-de-la-loire.ars.sante.fr', 'support-pdl@passerelle.example', '02 00 00 00 12', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-PAC', 'Provence-Alpes-Côte d''Azur', 'ARS Provence-Alpes-Côte d''Azur', 'https://www.paca.ars.sante.fr', 'support-pac@passerelle.example', '04 00 00 00 13', 'du lundi au vendredi, 8 h 30 – 18 h'),
('FR-GP',  'Guadeloupe', 'ARS Guadeloupe', 'https://www.guadeloupe.ars.sante.fr', 'support-gp@passerelle.example', '05 90 00 00 14', 'du lundi au vendredi, 7 h 30 – 16 h (heure locale)'),
('FR-MQ',  'Martinique', 'ARS Martinique', 'https://www.martinique.ars.sante.fr', 'support-mq@passerelle.example', '05 96 00 00 15', 'du lundi au vendredi, 7 h 30 – 16 h (heure locale)'),
('FR-GF',  'Guyane', 'ARS Guyane', 'https://www.guyane.ars.sante.fr', 'support-gf@passerelle.example', '05 94 00 00 16', 'du lundi au vendredi, 7 h 30 – 16 h (heure locale)'),
('FR-RE',  'La Réunion', 'ARS La Réunion', 'https://www.lareunion.ars.sante.fr', 'support-re@passerelle.example', '02 62 00 00 17', 'du lundi au vendredi, 8 h – 16 h (heure locale)'),
('FR-YT',  'Mayotte', 'ARS Mayotte', 'https://www.mayotte.ars.sante.fr', 'support-yt@passerelle.example', '02 69 00 00 18', 'du lundi au vendredi, 7 h 30 – 15 h 30 (heure locale)');
