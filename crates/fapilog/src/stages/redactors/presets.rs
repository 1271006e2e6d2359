//! Redaction presets: named, composable bundles of field names, name
//! fragments and value detectors, after fapilog's `fapilog/redaction/presets.py`.
//!
//! A preset contributes to two redactors: its field names, fragments and
//! suffixes to a [`super::FieldMask`] (matched case-insensitively at any
//! depth, `-` = `_`), and its value kinds to a [`super::RegexMask`] (matched
//! inside every string and the message). Presets that extend others include
//! everything of theirs. fapilog's key-path regexes such as `auth` (which
//! masks `author`) are replaced by narrower fragments.

use super::patterns::ValueKind;

/// A named bundle of what to redact.
#[derive(Debug)]
#[non_exhaustive]
pub struct RedactionPreset {
    /// The preset's name (`CREDENTIALS`).
    pub name: &'static str,
    /// The regulation it serves, when one (`GDPR`, `HIPAA`, `PCI-DSS`, …).
    pub regulation: Option<&'static str>,
    /// What it covers, in a sentence.
    pub description: &'static str,
    /// Presets it includes.
    pub extends: &'static [&'static RedactionPreset],
    /// Exact field names masked anywhere.
    pub fields: &'static [&'static str],
    /// Name fragments: a key containing one is masked.
    pub fragments: &'static [&'static str],
    /// Name endings: a key ending with one is masked.
    pub suffixes: &'static [&'static str],
    /// Value detectors applied to every string.
    pub value_kinds: &'static [ValueKind],
}

/// Passwords, secrets, tokens, API and private keys, session ids, cookies,
/// one-time codes; in values: JWTs, `Bearer`/`Basic` credentials, AWS
/// access key ids, GitHub, GitLab and Slack tokens, private key blocks and
/// `key=value` / `key: value` / `"key":"value"` pairs whose key names a
/// credential (see [`super::is_credential_key`]).
pub const CREDENTIALS: RedactionPreset = RedactionPreset {
    name: "CREDENTIALS",
    regulation: None,
    description: "passwords, secrets, tokens, API/private keys, sessions, cookies, OTPs",
    extends: &[],
    fields: &[
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "api_secret",
        "client_secret",
        "shared_secret",
        "token",
        "access_token",
        "refresh_token",
        "auth_token",
        "bearer_token",
        "jwt",
        "api_key",
        "apikey",
        "api_token",
        "private_key",
        "secret_key",
        "signing_key",
        "encryption_key",
        "authorization",
        "auth_header",
        "session_id",
        "session_token",
        "session_key",
        "cookie",
        "session_cookie",
        "auth_cookie",
        "otp",
        "totp",
        "mfa_code",
        "verification_code",
        "set_cookie",
        "proxy_authorization",
        "x_api_key",
        "x_auth_token",
    ],
    fragments: &[
        "password",
        "passwd",
        "secret",
        "api_key",
        "apikey",
        "private_key",
        "privatekey",
        "access_token",
        "accesstoken",
        "refresh_token",
        "refreshtoken",
        "auth_token",
        "authtoken",
        "session_token",
        "bearer",
        "authorization",
        "credential",
    ],
    suffixes: &["token", "_pwd", "_pass"],
    value_kinds: &[
        ValueKind::PrivateKey,
        ValueKind::Jwt,
        ValueKind::BearerToken,
        ValueKind::BasicAuth,
        ValueKind::AwsAccessKey,
        ValueKind::GithubToken,
        ValueKind::GitlabToken,
        ValueKind::SlackToken,
        ValueKind::SecretAssignment,
    ],
};

/// E-mail addresses, phone numbers and postal addresses (names and values).
pub const CONTACT_INFO: RedactionPreset = RedactionPreset {
    name: "CONTACT_INFO",
    regulation: None,
    description: "e-mail, phone, postal address",
    extends: &[],
    fields: &[
        "email",
        "e_mail",
        "email_address",
        "phone",
        "phone_number",
        "telephone",
        "mobile",
        "cell",
        "fax",
        "address",
        "street",
        "street_address",
        "postal_address",
        "postcode",
        "postal_code",
        "zipcode",
        "zip_code",
        "zip",
        "city",
        "town",
        "state",
        "province",
        "country",
    ],
    fragments: &[
        "email",
        "e_mail",
        "phone",
        "mobile",
        "postcode",
        "zipcode",
        "zip_code",
        "postal_code",
        "street_address",
        "home_address",
        "mailing_address",
        "billing_address",
        "shipping_address",
    ],
    suffixes: &[],
    value_kinds: &[ValueKind::Email, ValueKind::Phone],
};

/// Names, dates of birth, age, gender (field names only: no value pattern
/// can tell a name from other text).
pub const PERSONAL_IDENTIFIERS: RedactionPreset = RedactionPreset {
    name: "PERSONAL_IDENTIFIERS",
    regulation: None,
    description: "names, birth dates, age, gender",
    extends: &[],
    fields: &[
        "name",
        "first_name",
        "last_name",
        "full_name",
        "surname",
        "given_name",
        "middle_name",
        "maiden_name",
        "nickname",
        "dob",
        "date_of_birth",
        "birth_date",
        "birthday",
        "age",
        "gender",
        "sex",
    ],
    fragments: &[
        "first_name",
        "firstname",
        "last_name",
        "lastname",
        "full_name",
        "fullname",
        "surname",
        "given_name",
        "maiden_name",
        "birth",
    ],
    suffixes: &[],
    value_kinds: &[],
};

/// IP addresses, device and tracking ids, MAC addresses, user agents,
/// browser fingerprints; IPv4 addresses in values.
pub const ONLINE_IDENTIFIERS: RedactionPreset = RedactionPreset {
    name: "ONLINE_IDENTIFIERS",
    regulation: None,
    description: "IP addresses, device/tracking ids, MAC, user agent, fingerprints",
    extends: &[],
    fields: &[
        "ip",
        "ip_address",
        "ipv4",
        "ipv6",
        "client_ip",
        "remote_ip",
        "device_id",
        "device_identifier",
        "udid",
        "idfa",
        "gaid",
        "mac_address",
        "hardware_id",
        "user_agent",
        "browser_fingerprint",
        "cookie_id",
        "tracking_id",
        "visitor_id",
    ],
    fragments: &[
        "device_id",
        "deviceid",
        "mac_addr",
        "ip_address",
        "ipaddress",
        "fingerprint",
    ],
    suffixes: &["_ip"],
    value_kinds: &[ValueKind::Ipv4],
};

/// Bank accounts, IBAN/BIC/SWIFT, sort and routing numbers; IBANs
/// (checksummed) and payment card numbers (Luhn-checked) in values.
pub const FINANCIAL_IDENTIFIERS: RedactionPreset = RedactionPreset {
    name: "FINANCIAL_IDENTIFIERS",
    regulation: None,
    description: "bank accounts, IBAN, BIC/SWIFT, sort/routing numbers, card numbers in values",
    extends: &[],
    fields: &[
        "iban",
        "bic",
        "swift",
        "bank_account",
        "account_number",
        "account_no",
        "sort_code",
        "routing_number",
        "bsb",
    ],
    fragments: &[
        "iban",
        "account_number",
        "accountnumber",
        "account_no",
        "routing_number",
        "sort_code",
        "bank_account",
    ],
    suffixes: &[],
    value_kinds: &[ValueKind::Iban, ValueKind::CreditCard],
};

/// US social security, ITIN, EIN, passport and driver's licence numbers;
/// SSNs in values.
pub const US_GOVERNMENT_IDS: RedactionPreset = RedactionPreset {
    name: "US_GOVERNMENT_IDS",
    regulation: Some("US"),
    description: "SSN, ITIN, EIN, passport, driver's license",
    extends: &[],
    fields: &[
        "ssn",
        "social_security",
        "social_security_number",
        "itin",
        "ein",
        "passport",
        "passport_number",
        "drivers_license",
        "driver_license",
        "dl_number",
    ],
    fragments: &[
        "social_security",
        "passport_n",
        "driver_license",
        "drivers_license",
    ],
    suffixes: &["_ssn"],
    value_kinds: &[ValueKind::UsSsn],
};

/// UK national insurance and NHS numbers, passports, driving licences;
/// national insurance numbers in values.
pub const UK_GOVERNMENT_IDS: RedactionPreset = RedactionPreset {
    name: "UK_GOVERNMENT_IDS",
    regulation: Some("UK-GDPR"),
    description: "national insurance, NHS number, passport, driving licence",
    extends: &[],
    fields: &[
        "national_insurance",
        "ni_number",
        "nino",
        "nhs_number",
        "passport",
        "passport_number",
        "driving_licence",
        "licence_number",
    ],
    fragments: &[
        "national_insurance",
        "nhs_number",
        "driving_licence",
        "passport_n",
    ],
    suffixes: &[],
    value_kinds: &[ValueKind::UkNino],
};

/// EU national id and identity card numbers, passports, tax and VAT ids,
/// driving licences (field names only).
pub const EU_GOVERNMENT_IDS: RedactionPreset = RedactionPreset {
    name: "EU_GOVERNMENT_IDS",
    regulation: Some("GDPR"),
    description: "national id, identity card, passport, tax/VAT id, driving licence",
    extends: &[],
    fields: &[
        "national_id",
        "id_number",
        "identity_number",
        "id_card",
        "passport",
        "passport_number",
        "tax_id",
        "tin",
        "vat_number",
        "drivers_license",
        "licence_number",
    ],
    fragments: &[
        "national_id",
        "identity_number",
        "id_card",
        "tax_id",
        "vat_number",
        "passport_n",
    ],
    suffixes: &[],
    value_kinds: &[],
};

/// GDPR personal data: contact, personal, online, financial and EU
/// government identifiers, plus biometric, genetic and health data.
pub const GDPR_PII: RedactionPreset = RedactionPreset {
    name: "GDPR_PII",
    regulation: Some("GDPR"),
    description: "GDPR personal data (EU)",
    extends: &[
        &CONTACT_INFO,
        &PERSONAL_IDENTIFIERS,
        &ONLINE_IDENTIFIERS,
        &FINANCIAL_IDENTIFIERS,
        &EU_GOVERNMENT_IDS,
    ],
    fields: &["biometric_data", "genetic_data", "health_data"],
    fragments: &["biometric", "genetic"],
    suffixes: &[],
    value_kinds: &[],
};

/// UK GDPR: everything in [`GDPR_PII`] plus UK government identifiers.
pub const GDPR_PII_UK: RedactionPreset = RedactionPreset {
    name: "GDPR_PII_UK",
    regulation: Some("UK-GDPR"),
    description: "UK GDPR personal data",
    extends: &[&GDPR_PII, &UK_GOVERNMENT_IDS],
    fields: &[],
    fragments: &[],
    suffixes: &[],
    value_kinds: &[],
};

/// CCPA personal information: contact, personal, online, financial and US
/// government identifiers, plus household ids, inferred preferences and
/// purchase history.
pub const CCPA_PII: RedactionPreset = RedactionPreset {
    name: "CCPA_PII",
    regulation: Some("CCPA"),
    description: "California consumer personal information",
    extends: &[
        &CONTACT_INFO,
        &PERSONAL_IDENTIFIERS,
        &ONLINE_IDENTIFIERS,
        &FINANCIAL_IDENTIFIERS,
        &US_GOVERNMENT_IDS,
    ],
    fields: &["household_id", "inferred_preferences", "purchase_history"],
    fragments: &[],
    suffixes: &[],
    value_kinds: &[],
};

/// HIPAA protected health information: contact, personal and US government
/// identifiers, plus medical record, patient, health plan and beneficiary
/// ids, account, certificate, licence, vehicle and device ids, URLs,
/// biometric ids and images (fapilog's list: `url` fields are masked whole).
pub const HIPAA_PHI: RedactionPreset = RedactionPreset {
    name: "HIPAA_PHI",
    regulation: Some("HIPAA"),
    description: "protected health information (the 18 HIPAA identifiers)",
    extends: &[&CONTACT_INFO, &PERSONAL_IDENTIFIERS, &US_GOVERNMENT_IDS],
    fields: &[
        "mrn",
        "medical_record_number",
        "patient_id",
        "health_plan_id",
        "beneficiary_id",
        "account_number",
        "certificate_number",
        "license_number",
        "vehicle_id",
        "vin",
        "device_serial",
        "device_identifier",
        "url",
        "web_url",
        "biometric_id",
        "fingerprint",
        "voiceprint",
        "photo",
        "image",
    ],
    fragments: &["medical_record", "patient_id", "health_plan", "beneficiary"],
    suffixes: &[],
    value_kinds: &[],
};

/// PCI DSS cardholder data: card numbers (Luhn-checked in values), CVV/CVC,
/// expiry, cardholder name, PIN, track data.
pub const PCI_DSS: RedactionPreset = RedactionPreset {
    name: "PCI_DSS",
    regulation: Some("PCI-DSS"),
    description: "cardholder data and sensitive authentication data",
    extends: &[],
    fields: &[
        "card_number",
        "credit_card",
        "cc_number",
        "pan",
        "cvv",
        "cvc",
        "cvv2",
        "cid",
        "security_code",
        "card_security",
        "expiry",
        "expiry_date",
        "expiration",
        "exp_date",
        "exp_month",
        "exp_year",
        "cardholder",
        "cardholder_name",
        "card_holder",
        "card_pin",
        "pin",
        "track_data",
        "track1",
        "track2",
    ],
    fragments: &[
        "card_number",
        "cardnumber",
        "credit_card",
        "creditcard",
        "cardholder",
        "card_holder",
        "security_code",
        "track_data",
    ],
    suffixes: &["_cvv", "_cvc", "_pan"],
    value_kinds: &[ValueKind::CreditCard],
};

/// Every preset, in fapilog's order.
pub const ALL_PRESETS: [&RedactionPreset; 13] = [
    &CREDENTIALS,
    &CONTACT_INFO,
    &PERSONAL_IDENTIFIERS,
    &ONLINE_IDENTIFIERS,
    &FINANCIAL_IDENTIFIERS,
    &US_GOVERNMENT_IDS,
    &UK_GOVERNMENT_IDS,
    &EU_GOVERNMENT_IDS,
    &GDPR_PII,
    &GDPR_PII_UK,
    &CCPA_PII,
    &HIPAA_PHI,
    &PCI_DSS,
];

/// Everything a set of presets resolves to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResolvedPresets {
    /// Exact field names.
    pub fields: Vec<&'static str>,
    /// Name fragments.
    pub fragments: Vec<&'static str>,
    /// Name endings.
    pub suffixes: Vec<&'static str>,
    /// Value detectors.
    pub value_kinds: Vec<ValueKind>,
}

impl RedactionPreset {
    /// The preset named `name` (case-insensitive, `-` = `_`).
    pub fn by_name(name: &str) -> Option<&'static RedactionPreset> {
        let n = super::keys::normalize(name.trim());
        ALL_PRESETS
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(&n))
    }

    /// This preset with everything it extends, flattened and deduplicated.
    pub fn resolve(&'static self) -> ResolvedPresets {
        let mut r = ResolvedPresets::default();
        self.resolve_into(&mut r);
        r
    }

    fn resolve_into(&'static self, r: &mut ResolvedPresets) {
        for p in self.extends {
            p.resolve_into(r);
        }
        fn add<T: PartialEq + Copy>(to: &mut Vec<T>, from: &[T]) {
            for x in from {
                if !to.contains(x) {
                    to.push(*x);
                }
            }
        }
        add(&mut r.fields, self.fields);
        add(&mut r.fragments, self.fragments);
        add(&mut r.suffixes, self.suffixes);
        add(&mut r.value_kinds, self.value_kinds);
    }
}

/// Resolves several presets together.
pub fn resolve_presets(presets: &[&'static RedactionPreset]) -> ResolvedPresets {
    let mut r = ResolvedPresets::default();
    for p in presets {
        p.resolve_into(&mut r);
    }
    r
}
