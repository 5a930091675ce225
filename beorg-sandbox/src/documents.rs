//! Realistic generated documents, with Beorg's quirks.

use serde_json::{Map, Value, json};

use crate::Outcome;
use crate::state::{SetState, set_id};

struct Person {
    last: &'static str,
    first: &'static str,
    middle: &'static str,
    male: bool,
    city: &'static str,
}

const PEOPLE: &[Person] = &[
    Person {
        last: "Иванов",
        first: "Иван",
        middle: "Иванович",
        male: true,
        city: "г. Москва",
    },
    Person {
        last: "Петрова",
        first: "Анна",
        middle: "Сергеевна",
        male: false,
        city: "г. Санкт-Петербург",
    },
    Person {
        last: "Смирнов",
        first: "Алексей",
        middle: "Петрович",
        male: true,
        city: "г. Новосибирск",
    },
    Person {
        last: "Кузнецова",
        first: "Мария",
        middle: "Андреевна",
        male: false,
        city: "г. Екатеринбург",
    },
    Person {
        last: "Попов",
        first: "Дмитрий",
        middle: "Олегович",
        male: true,
        city: "г. Казань",
    },
    Person {
        last: "Соколова",
        first: "Елена",
        middle: "Викторовна",
        male: false,
        city: "г. Нижний Новгород",
    },
    Person {
        last: "Лебедев",
        first: "Сергей",
        middle: "Николаевич",
        male: true,
        city: "г. Самара",
    },
    Person {
        last: "Новикова",
        first: "Ольга",
        middle: "Игоревна",
        male: false,
        city: "г. Омск",
    },
];

/// The person of set `n`: drawn deterministically from the list; with a given
/// surname, from the people of the matching gender (a Russian surname ending in
/// `-а`/`-я` is taken as female).
fn person(n: u64, surname: Option<&str>) -> &'static Person {
    let pick = n.wrapping_mul(2_654_435_761);
    match surname {
        None => &PEOPLE[(pick % PEOPLE.len() as u64) as usize],
        Some(s) => {
            let female = s.ends_with('а') || s.ends_with('я');
            let matching: Vec<&Person> = PEOPLE.iter().filter(|p| p.male != female).collect();
            matching[(pick % matching.len() as u64) as usize]
        }
    }
}

/// PASSPORT + SNILS, the default when an upload has no `process_info`: `(key, type)`.
pub(crate) fn default_documents() -> Vec<(String, String)> {
    vec![
        ("PASSPORT".to_owned(), "PASSPORT".to_owned()),
        ("SNILS".to_owned(), "SNILS".to_owned()),
    ]
}

/// The Russian name Beorg's `FileName` starts with, by wire type (`Паспорт_Иванов`); a type
/// without one keeps its wire name (`MARRIAGE_Иванов`). The sandbox's own table: it must not
/// borrow the client's model, so that it stays an independent check of the client.
fn russian_name(doc_type: &str) -> &str {
    match doc_type {
        "PASSPORT" => "Паспорт",
        "PASSPORT_REG" => "Паспорт_регистрация",
        "SNILS" => "СНИЛС",
        "INN" => "ИНН",
        "RVP" => "РВП",
        "VNG" => "ВНЖ",
        "BRTH" => "Свидетельство_о_рождении",
        "FPRN" => "Загранпаспорт",
        "PASSPORT_FRGN" => "Паспорт_иностранца",
        "DLIC" => "ВУ",
        other => other,
    }
}

/// The check number of a SNILS's first nine digits: the digits weighted 9 down to 1 and
/// summed; under 100 the sum itself, 100 and 101 give `00`, over 101 the sum modulo 101
/// (a remainder of 100 again `00`).
fn snils_check(digits: &[u64]) -> u64 {
    let sum: u64 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| d * (9 - i as u64))
        .sum();
    match sum % 101 {
        100 => 0,
        s => s,
    }
}

/// A SNILS number derived from `seed`: with a valid check number, or (`valid = false`)
/// with a wrong one.
fn snils_number(seed: u64, valid: bool) -> String {
    let base = 100_000_000 + (seed.wrapping_mul(7_654_321) % 899_999_999);
    let digits: Vec<u64> = base
        .to_string()
        .bytes()
        .map(|b| u64::from(b - b'0'))
        .collect();
    let check = snils_check(&digits);
    let check = if valid { check } else { (check + 37) % 100 };
    let s = base.to_string();
    format!("{}-{}-{} {:02}", &s[0..3], &s[3..6], &s[6..9], check)
}

/// A person's INN (12 digits) derived from `seed`, with both check digits right: each is
/// the weighted sum of the digits before it, modulo 11, then modulo 10.
fn person_inn(seed: u64) -> String {
    const W11: [u64; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W12: [u64; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    let mut digits: Vec<u64> = format!("77{:08}", seed.wrapping_mul(104_729) % 100_000_000)
        .bytes()
        .map(|b| u64::from(b - b'0'))
        .collect();
    for weights in [&W11[..], &W12[..]] {
        let sum: u64 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
        digits.push(sum % 11 % 10);
    }
    digits.iter().map(u64::to_string).collect()
}

/// The current year by the system clock (an average Gregorian year from the Unix epoch:
/// at most a day off around New Year, which the generated ages leave room for).
fn this_year() -> u64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    1970 + secs / 31_556_952
}

fn date(n: u64, year_from: u64, span: u64) -> String {
    on(n, year_from + n % span)
}

/// Day and month derived from `n`, in `year`.
fn on(n: u64, year: u64) -> String {
    format!("{:02}.{:02}.{}", 1 + n % 28, 1 + (n / 7) % 12, year)
}

/// The `documents` array of a set's result.
pub(crate) fn documents_json(set: &SetState) -> Value {
    let n = set.number;
    let p = person(n, set.surname.as_deref());
    let surname = set.surname.as_deref().unwrap_or(p.last);
    let gender = if p.male { "М" } else { "Ж" };
    // Plausible, as a real employee's documents are: 25 to 44 years old this year (so
    // never due for the passport's replacement at 45), the passport issued in the
    // year after the 21st birthday or up to three years later; the child born within
    // the last 15 years and its certificate issued the year after.
    let year = this_year();
    let birth_year = year - 25 - n % 20;
    let birth = on(n, birth_year);
    let passport_issued = on(n + 3, birth_year + 21 + n % 4);
    let child_year = year - 16 + n % 15;
    // No documents stored: the default ones (what a bulk-seeded set holds).
    let defaults;
    let kinds = if set.docs.is_empty() {
        defaults = default_documents();
        &defaults
    } else {
        &set.docs
    };
    let docs: Vec<Value> = kinds
        .iter()
        .map(|(key, t)| {
            let file_name = format!("{}_{}", russian_name(t), surname);
            let (data, metadata) = match t.as_str() {
                "PASSPORT" | "PASSPORT_REG" => (
                    json!({
                        "LastName": surname, "FirstName": p.first, "MiddleName": p.middle,
                        "Gender": gender, "BirthDate": birth, "BirthPlace": p.city,
                        "Series": format!("{:04}", 4500 + n % 500), "Number": format!("{:06}", 100_000 + (n * 7919) % 900_000),
                        "IssuedBy": format!("ОТДЕЛОМ УФМС РОССИИ ПО {}", p.city.trim_start_matches("г. ").to_uppercase()),
                        "IssueDate": passport_issued, "IssueId": format!("{:03}-{:03}", 500 + n % 99, n % 999),
                        "Address": if t == "PASSPORT_REG" { format!("{}, ул. Ленина, д. {}, кв. {}", p.city, 1 + n % 90, 1 + n % 200) } else { String::new() },
                        "HasPhoto": "1", "HasOwnerSignature": "1", "MRZ1": "", "MRZ2": "",
                        "FileName": file_name,
                    }),
                    json!({
                        "confidences": {
                            "LastName": "0.9996", "FirstName": 0.9981, "MiddleName": "0.99",
                            "BirthDate": "0.9996", "Series": 1, "Number": "0.97", "MRZ1": "0", "MRZ2": null
                        },
                        "verifications": {
                            "status": 0, "status_text": "ok",
                            "checks": {"verify_passport": [
                                {"status": 0, "key": "fields_to_check_valid", "title": "Поля заполнены корректно"},
                                {"status": 0, "key": "series_okato", "title": "Серия соответствует региону"},
                                {"status": 0, "key": "issued_after_14", "title": "Выдан после 14 лет"}
                            ]},
                            "bad_fields": []
                        },
                        "metadata_check": {"status": 0, "checks": {"source_check": 1}}
                    }),
                ),
                "SNILS" => (
                    json!({
                        "Number": snils_number(n, !set.bad_snils), "LastName": surname, "FirstName": p.first,
                        "MiddleName": p.middle, "Gender": gender, "BirthDate": birth,
                        "BirthPlace": p.city, "RegistrationDate": null, "FileName": file_name,
                    }),
                    json!({
                        "confidences": {"Number": "0.99", "LastName": 0.98, "Firstname": "0.97", "MiddleName": null},
                        "verifications": {"status": "", "checks": {}, "bad_fields": []},
                        "metadata_check": {}
                    }),
                ),
                "INN" => (
                    json!({
                        "Number": person_inn(n),
                        "LastName": surname, "FirstName": p.first, "MiddleName": p.middle,
                        "BirthDate": birth, "FileName": file_name,
                    }),
                    json!({"confidences": {"Number": "0.95"}, "verifications": {}, "metadata_check": {}}),
                ),
                "RVP" => (
                    json!({
                        "Gender": gender, "LastName": surname, "FirstName": p.first, "MiddleName": p.middle,
                        "BirthDate": birth, "BirthPlace": "Республика Узбекистан", "Citizenship": "УЗБЕКИСТАН",
                        "SolutionNumber": format!("{}", 1000 + n), "SolutionDate": date(n, 2021, 3),
                        "ExpiryDate": date(n, 2025, 3), "IssuedBy": "ГУ МВД России", "IssueId": "770-001",
                        "IssueDate": date(n + 1, 2021, 3), "FileName": file_name,
                    }),
                    json!({"confidences": {"LastName": "0.93"}, "verifications": {"status": 1, "status_text": "check failed", "bad_fields": ["ExpiryDate"]}, "metadata_check": {}}),
                ),
                "BRTH" => (
                    json!({
                        "ChildGender": gender, "ChildLastName": surname, "ChildFirstName": p.first,
                        "ChildMiddleName": p.middle, "ChildBirthDate": on(n, child_year), "IssueDate": on(n, child_year + 1),
                        "Series": "IV-МЮ", "Number": format!("{:06}", 500_000 + n % 99_999), "FileName": file_name,
                    }),
                    json!({"confidences": {}, "verifications": {}, "metadata_check": {}}),
                ),
                _ => (
                    json!({"Number": format!("{}", 900_000 + n), "FileName": file_name}),
                    json!({"confidences": {"Number": null}, "verifications": {}, "metadata_check": {}}),
                ),
            };
            // Beorg's published examples carry `"broken": null` and empty reason lists;
            // a document it could not read is `true` with its reasons as lists of texts.
            let broken = set.broken_documents.iter().any(|b| b == key);
            let (mark, reasons, reasons_ru) = if broken {
                (
                    Value::Bool(true),
                    json!(["The document is unreadable"]),
                    json!(["Документ нечитаем"]),
                )
            } else {
                (Value::Null, json!([]), json!([]))
            };
            json!({
                "key": key,
                "type": t,
                "data": data,
                "metadata": metadata,
                "broken": mark,
                "broken_reasons": reasons,
                "broken_reasons_ru": reasons_ru,
                "page_count": 1
            })
        })
        .collect();
    Value::Array(docs)
}

/// A full result body (`company`: the `project_id` it carries).
pub(crate) fn result_json(set: &SetState, company: &str) -> Value {
    let mut m = Map::new();
    m.insert("document_id".into(), Value::String(set_id(set.number)));
    match set.outcome {
        Outcome::Documents => {
            m.insert("documents".into(), documents_json(set));
        }
        Outcome::Empty => {
            m.insert("documents".into(), Value::Array(Vec::new()));
        }
        Outcome::Broken => {
            m.insert("documents".into(), Value::Array(Vec::new()));
            m.insert("broken".into(), Value::Bool(true));
            m.insert("broken_reasons".into(), json!(["The image is unreadable"]));
            m.insert("broken_reasons_ru".into(), json!(["Изображение нечитаемо"]));
        }
    }
    m.insert("project_id".into(), Value::String(company.to_owned()));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snils_check_sum_is_valid() {
        for seed in 0..50 {
            let s = snils_number(seed, true);
            let digits: Vec<u64> = s
                .chars()
                .filter(char::is_ascii_digit)
                .map(|c| u64::from(c as u8 - b'0'))
                .collect();
            assert_eq!(digits.len(), 11, "{s}");
            let sum: u64 = digits[..9]
                .iter()
                .enumerate()
                .map(|(i, d)| d * (9 - i as u64))
                .sum();
            let expected = match sum % 101 {
                100 => 0,
                x => x,
            };
            assert_eq!(digits[9] * 10 + digits[10], expected, "{s}");
        }
    }

    fn digits(s: &str) -> Vec<u64> {
        s.chars()
            .filter(char::is_ascii_digit)
            .map(|c| u64::from(c as u8 - b'0'))
            .collect()
    }

    #[test]
    fn a_bad_snils_differs_only_in_its_check_number() {
        for seed in 0..50 {
            let (good, bad) = (snils_number(seed, true), snils_number(seed, false));
            assert_eq!(good[..11], bad[..11], "same nine digits");
            let (g, b) = (digits(&good), digits(&bad));
            assert_ne!(g[9..], b[9..], "{good} / {bad}");
        }
    }

    /// The FNS rule, computed here independently of `person_inn`: the 11th digit is
    /// `Σ w·d mod 11 mod 10` with 7 2 4 10 3 5 9 4 6 8, the 12th with 3 7 2 4 10 3 5 9 4 6 8
    /// (python-stdnum's `stdnum/ru/inn.py` states the same weights).
    #[test]
    fn person_inns_have_both_check_digits_right() {
        let check =
            |d: &[u64], w: &[u64]| d.iter().zip(w).map(|(a, b)| a * b).sum::<u64>() % 11 % 10;
        for seed in 0..200 {
            let inn = person_inn(seed);
            let d = digits(&inn);
            assert_eq!(d.len(), 12, "{inn}");
            assert_eq!(
                d[10],
                check(&d[..10], &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]),
                "{inn}"
            );
            assert_eq!(
                d[11],
                check(&d[..11], &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]),
                "{inn}"
            );
        }
    }
}
