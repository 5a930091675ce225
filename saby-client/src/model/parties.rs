//! The parties of a document: `НашаОрганизация`, `Контрагент`, `Участник` (a legal entity or
//! an individual) and persons (`Ответственный`, `Автор`).

use super::de::wire_struct;

wire_struct! {
    /// `НашаОрганизация` / `Контрагент` / `Участник`: a legal entity (`СвЮЛ`) or an individual
    /// (`СвФЛ`).
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Party {
        /// `СвЮЛ`.
        pub legal_entity: Option<LegalEntity> = "СвЮЛ" => Object,
        /// `СвФЛ`.
        pub individual: Option<Individual> = "СвФЛ" => Object,
        /// `ИдентификаторИС`: the party's id in your system.
        pub system_id: Option<String> = "ИдентификаторИС" => Text,
        /// `Email`.
        pub email: Option<String> = "Email" => Text,
        /// `Телефон`.
        pub phone: Option<String> = "Телефон" => Text,
    }
}

impl Party {
    /// A legal entity (`СвЮЛ{ИНН, КПП, Название}`); pass `""` for an unknown KPP.
    pub fn legal_entity(
        inn: impl Into<String>,
        kpp: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        let kpp = kpp.into();
        Self {
            legal_entity: Some(LegalEntity {
                inn: Some(inn.into()),
                kpp: (!kpp.is_empty()).then_some(kpp),
                name: Some(name.into()),
                ..LegalEntity::default()
            }),
            ..Self::default()
        }
    }
    /// An individual (`СвФЛ{ИНН, Фамилия, Имя, Отчество}`); pass `""` for no middle name.
    pub fn individual(
        inn: impl Into<String>,
        last_name: impl Into<String>,
        first_name: impl Into<String>,
        middle_name: impl Into<String>,
    ) -> Self {
        let middle = middle_name.into();
        Self {
            individual: Some(Individual {
                inn: Some(inn.into()),
                last_name: Some(last_name.into()),
                first_name: Some(first_name.into()),
                middle_name: (!middle.is_empty()).then_some(middle),
                ..Individual::default()
            }),
            ..Self::default()
        }
    }
    /// Sets `Email`.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
    /// Sets `ИдентификаторИС`.
    pub fn with_system_id(mut self, id: impl Into<String>) -> Self {
        self.system_id = Some(id.into());
        self
    }
    /// The INN of whichever side is present.
    pub fn inn(&self) -> Option<&str> {
        self.legal_entity
            .as_ref()
            .and_then(|l| l.inn.as_deref())
            .or_else(|| self.individual.as_ref().and_then(|i| i.inn.as_deref()))
    }
}

wire_struct! {
    /// `СвЮЛ`: a legal entity.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct LegalEntity {
        /// `ИНН`.
        pub inn: Option<String> = "ИНН" => Text,
        /// `КПП`.
        pub kpp: Option<String> = "КПП" => Text,
        /// `Название`.
        pub name: Option<String> = "Название" => Text,
        /// `КодФилиала`.
        pub branch_code: Option<String> = "КодФилиала" => Text,
    }
}

wire_struct! {
    /// `СвФЛ`: an individual.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Individual {
        /// `ИНН`.
        pub inn: Option<String> = "ИНН" => Text,
        /// `Фамилия`.
        pub last_name: Option<String> = "Фамилия" => Text,
        /// `Имя`.
        pub first_name: Option<String> = "Имя" => Text,
        /// `Отчество`.
        pub middle_name: Option<String> = "Отчество" => Text,
        /// `СНИЛС`.
        pub snils: Option<String> = "СНИЛС" => Text,
    }
}

wire_struct! {
    /// A person (`Ответственный`, `Автор`): `{Фамилия, Имя, Отчество}`.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Person {
        /// `Фамилия`.
        pub last_name: Option<String> = "Фамилия" => Text,
        /// `Имя`.
        pub first_name: Option<String> = "Имя" => Text,
        /// `Отчество`.
        pub middle_name: Option<String> = "Отчество" => Text,
    }
}

impl Person {
    /// A person by full name; pass `""` for no middle name.
    pub fn new(
        last_name: impl Into<String>,
        first_name: impl Into<String>,
        middle_name: impl Into<String>,
    ) -> Self {
        let middle = middle_name.into();
        Self {
            last_name: Some(last_name.into()),
            first_name: Some(first_name.into()),
            middle_name: (!middle.is_empty()).then_some(middle),
            ..Self::default()
        }
    }
}
