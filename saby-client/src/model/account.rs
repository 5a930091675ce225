//! The small records of the account methods: accounts, the current user, the API version.

use serde_json::Value;

use super::de::wire_struct;
use super::wire::SabyDateTime;

wire_struct! {
    /// An account of `СБИС.СписокАккаунтов` (an item of `result.Список`).
    ///
    /// Saby's own 1C connector (`saby-integration/vo3_core`, `base/LocalHelper.bsl`,
    /// `local_helper_get_accoutslist`) reads `НомерАккаунта` and `НазваниеАккаунта`; the name
    /// is also read from `Название`, as older answers had it.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Account {
        /// `НомерАккаунта`.
        pub number: Option<String> = "НомерАккаунта" => Text,
        /// `НазваниеАккаунта` (or `Название`).
        pub name: Option<String> = "НазваниеАккаунта" | "Название" => Text,
    }
}

wire_struct! {
    /// `СБИС.ИнформацияОТекущемПользователе`: the user (`result.Пользователь`, or the result
    /// itself when Saby answers flat). Known fields typed, the rest in `extra`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct CurrentUser {
        /// `Идентификатор`.
        pub id: Option<String> = "Идентификатор" => Text,
        /// `Фамилия`.
        pub last_name: Option<String> = "Фамилия" => Text,
        /// `Имя`.
        pub first_name: Option<String> = "Имя" => Text,
        /// `Отчество`.
        pub middle_name: Option<String> = "Отчество" => Text,
        /// `Логин`.
        pub login: Option<String> = "Логин" => Text,
    }
}

impl CurrentUser {
    /// The account number: `Аккаунт.Номер` (what Saby's own 1C connector reads), else a flat
    /// `НомерАккаунта`.
    pub fn account_number(&self) -> Option<String> {
        let text = |v: &Value| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        self.extra
            .get("Аккаунт")
            .and_then(|a| a.get("Номер"))
            .and_then(text)
            .or_else(|| self.extra.get("НомерАккаунта").and_then(text))
    }
}

wire_struct! {
    /// `СБИС.ИнформацияОВерсии` (known fields typed, the rest in `extra`).
    ///
    /// Saby's own 1C connector reads `result.ВнешнийИнтерфейс.ДатаВремяЗапроса`:
    /// `ВнешнийИнтерфейс` is an object. A scalar `ВнешнийИнтерфейс` (a version string or
    /// number) is accepted too and kept in `extra`; [`VersionInfo::api_version`] reads it.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct VersionInfo {
        /// `ВнешнийИнтерфейс` (when an object).
        pub interface: Option<ExternalInterface> = "ВнешнийИнтерфейс" => Object,
        /// `Версия`.
        pub version: Option<String> = "Версия" => Text,
    }
}

impl VersionInfo {
    /// `ВнешнийИнтерфейс` when Saby sent it as a scalar (a version), as text.
    pub fn api_version(&self) -> Option<String> {
        match self.extra.get("ВнешнийИнтерфейс")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    /// `ВнешнийИнтерфейс.ДатаВремяЗапроса`: the server's time of the request.
    pub fn request_time(&self) -> Option<&SabyDateTime> {
        self.interface.as_ref()?.request_time.as_ref()
    }
}

wire_struct! {
    /// `ВнешнийИнтерфейс` of `СБИС.ИнформацияОВерсии`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ExternalInterface {
        /// `ДатаВремяЗапроса`: the server's time of the request.
        pub request_time: Option<SabyDateTime> = "ДатаВремяЗапроса" => Parsed,
    }
}
